"""Errors that mean "the user's input is wrong": the CLI prints them and exits with code 2."""


class XinstructError(Exception):
    """Bad input: the message names the file, line or field and what was expected."""


class ConfigError(XinstructError):
    pass


class DataError(XinstructError):
    pass
