"""The one Hugging Face Hub client: the token in use, what the Hub says of a model (gated, private, its
files and safetensors headers), and one reading of its refusals, for preflight, staging and deploy alike."""
