"""DingTalk (钉钉) in Stream mode: the transport (dingtalk.stream, dingtalk.api) and the
adapter that turns its robot messages into conversation-core events (dingtalk.adapter)."""
