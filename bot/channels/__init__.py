"""Channels residents use: the web page and its JSON API, and the WeChat Official Account."""
