"""Voice for elder mode: speech recognition (``/api/asr``) and read-aloud (``/api/tts``)."""
