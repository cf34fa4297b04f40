"""Button payloads the engine understands. Short: Telegram allows 64 bytes of callback data."""

YES = "yes"
NO = "no"
HUMAN = "human"
RETRY = "retry"
REMEDY_PREFIX = "remedy:"
FOLLOWUP_PREFIX = "fu:"
RATE_PREFIX = "rate:"
# Platform events that are not customer messages (adapters set them, never buttons).
FOLLOW = "event:follow"        # LINE follow, Telegram /start: greet, open no case
UNFOLLOW = "event:unfollow"    # LINE unfollow: the customer blocked the bot
MEDIA_PREFIX = "media:"        # a sticker or image, kept by message id: media:image:123
