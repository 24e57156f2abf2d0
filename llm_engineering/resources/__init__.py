"""SageMaker's remote resources as objects (one per endpoint or component, refreshed from one mapper), the
KMS key they are encrypted with, and waiting on them; beneath hosting, weights and iam, which all read them."""
