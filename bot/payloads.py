"""Button payloads the engine understands. Short: Telegram allows 64 bytes of callback data."""

YES = "yes"
NO = "no"
HUMAN = "human"
RETRY = "retry"
REMEDY_PREFIX = "remedy:"
FOLLOWUP_PREFIX = "fu:"
RATE_PREFIX = "rate:"
