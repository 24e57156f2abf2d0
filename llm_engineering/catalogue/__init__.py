"""Facts, with no AWS call: instance types and their GPUs, memory, NVMe and prices; engines, their images and
host AMIs; S3 locations and name rules. Every floor above reads them here, the emulator included."""
