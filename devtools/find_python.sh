#!/usr/bin/env bash
# Print a Python 3.10 interpreter, or explain what to install. Rasa 3.6 needs ≤3.10.
set -u
for candidate in python3.10 "$(command -v pyenv >/dev/null && pyenv root)/versions/"3.10*/bin/python3.10; do
  if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      exit 0
    fi
  fi
done
echo "Python 3.10 not found. Rasa Open Source 3.6 supports Python 3.8–3.10 only." >&2
echo "Install it with 'pyenv install 3.10' (the version is pinned in .python-version) and retry." >&2
exit 1
