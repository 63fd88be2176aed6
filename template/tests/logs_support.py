"""Reading what the app logged: the JSON lines that `log_output` (`fixtures.app`) captures."""

import io
import json
from typing import Any


def lines(output: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.getvalue().splitlines() if line.strip()]
