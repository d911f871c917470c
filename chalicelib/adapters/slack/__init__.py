"""Slack: the notifier (incoming webhook or chat.postMessage), the Block Kit messages leads get,
and the signature check of Slack's requests to us. slack_sdk is imported only where used, so
importing this package costs nothing."""
