#!/usr/bin/python3
import sys

if "--fail" in sys.argv:
    sys.exit(3)
print("ok")
