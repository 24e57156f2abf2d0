"""Model weights staged in S3: where a stage lives, what it holds, how it is made, read and removed.

`make stage-model` copies a Hub model into the account once; deploys then load it from that S3 prefix
instead of the Hub. The modules are split by weight of import: `location`, `manifest` and `safetensors`
are pure (settings and the plan use them); `stage` (boto3's transfer manager), `hub_files` and `staged`
are imported only by the scripts and checks that talk to S3 or the Hub.
"""
