"""Exceptions the library raises instead of printing, and the one warning it gives.

Scripts turn every `UserFacingError` into one line on stderr and its `exit_code`; anything else is a bug
and keeps its traceback.
"""


class UserFacingError(Exception):
    """An error whose message is complete advice for the user: what is wrong and what to do."""

    exit_code: int = 1


class ConfigurationError(UserFacingError):
    """A setting, argument or the local environment (region, credentials) is wrong or missing."""

    exit_code = 2


class AwsRequestError(UserFacingError):
    """AWS refused a request in a way the user can act on (permissions, quota, missing resource)."""


class SettingsWarning(UserWarning):
    """A setting that is probably misspelt: it is ignored, and the warning names the setting meant (scripts show
    it as one line)."""
