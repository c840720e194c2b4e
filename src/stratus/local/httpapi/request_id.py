"""Request ids shaped like an HTTP API's: 16 characters of the base64 alphabet, the last one ``=``.

An HTTP API puts one id on each request: the ``apigw-requestid`` response header and the event's
``requestContext.requestId`` hold the same value. Published samples: ``JKJaXmPLvHcESHA=`` (the awsdocs payload
format 2.0 sample), ``QQCtFipSIAMEPNQ=`` (aws-powertools/powertools-lambda-python#1098),
``RL2XYiwjPHcEMEQ=`` (cortexlabs/cortex#1225, a raw capture). Each decodes to 11 bytes, so the encoding ends with
one ``=`` and the character before it is one of the 16 whose low two bits are zero (``A``, ``E``, ..., ``w``, ``0``,
``4``, ``8``): 11 random bytes in standard base64 have exactly that form. AWS's bytes carry some structure (the
ninth byte is ``0x04`` in all three samples); what it encodes is not published, so all 11 bytes here are random.

``random.getrandbits`` rather than ``os.urandom``: an id must be unique, not secret, and this runs once per
request on the server's hot path (no system call).
"""

from __future__ import annotations

import base64
import random
import re

# What a caller may rely on: exactly this shape (the fidelity suite checks responses against it).
PATTERN = re.compile(r"[A-Za-z0-9+/]{14}[AEIMQUYcgkosw048]=")


def new_request_id() -> str:
    """A fresh ``apigw-requestid``, e.g. ``JKJaXmPLvHcESHA=``."""
    return base64.b64encode(random.getrandbits(88).to_bytes(11, "big")).decode()
