"""What every job shares: its options, logging, the resolved config, and one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import sys
from collections.abc import Iterator

from w2v_spark.config import Config, load_config
from w2v_spark.errors import UserError

log = logging.getLogger("w2v_spark")


def job_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every job takes; the job adds its own paths."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help="a profile such as conf/sample.toml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config value (repeatable), e.g. --set train.epochs=3",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    return parser


def setup_logging(debug: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    # py4j logs a traceback of its own when the JVM goes away; the one-line error says it.
    for noisy in ("py4j", "py4j.clientserver", "py4j.java_gateway"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.CRITICAL)
    if not debug:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_drop_py4j_tracebacks)


def _drop_py4j_tracebacks(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Exception while sending command")


JVM_GONE = (
    "the Spark JVM stopped (most often out of memory: raise spark.driver_memory, "
    "or --driver-memory under spark-submit)"
)


def innermost_java_cause(exc: BaseException) -> str | None:
    """``Class: message`` of the deepest Java cause behind a Py4J or PySpark error, if any.

    Py4J's own first line ("An error occurred while calling o49.copyFromLocalFile") names the
    call, not the reason; the reason is at the bottom of the Java cause chain. An error raised
    in a Python worker ends the chain as a traceback: its last line is the reason.
    """
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    if java is None:
        return None
    try:
        seen = 0
        while java.getCause() is not None and seen < 50:
            java, seen = java.getCause(), seen + 1
        name = java.getClass().getSimpleName()
        message = str(java.getMessage() or "").strip()
    except Exception:  # the JVM is gone
        return None
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if any("Traceback (most recent call last)" in line for line in lines):
        raised = [
            line
            for line in lines
            if re.match(r"^[A-Za-z_][\w.]*: ", line) and not line.startswith("SQLSTATE")
        ]
        return raised[-1] if raised else lines[-1]
    return f"{name}: {lines[0]}" if lines else name


def one_line(exc: BaseException) -> str:
    """The first meaningful line of an exception, with the innermost Java cause when there is
    one."""
    chain = [exc, exc.__cause__, exc.__context__]
    if any(type(e).__name__ in ("Py4JNetworkError", "ConnectionRefusedError") for e in chain if e):
        return JVM_GONE
    cause = innermost_java_cause(exc)
    try:
        text = str(exc).strip() or type(exc).__name__
    except Exception:  # py4j errors can fail to print once the JVM is gone
        return cause or JVM_GONE
    if "does not exist in the JVM" in text or "<exception str() failed>" in text:
        return JVM_GONE
    first = type(exc).__name__
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "Traceback", "File ")):
            first = line
            break
    if cause and first in cause:
        first = cause
    elif cause:
        first = f"{cause} (in: {first})"
    return first[:500]


@contextlib.contextmanager
def job(args: argparse.Namespace, name: str) -> Iterator[Config]:
    """Load the config, log it once, and turn any failure into one line and a non-zero exit."""
    setup_logging(getattr(args, "debug", False))
    try:
        config = load_config(args.config, args.overrides)
        log.info("%s: resolved config\n%s", name, config.to_json())
        yield config
    except UserError as exc:
        if args.debug:
            log.exception("%s failed", name)
        print(f"w2v-spark {name}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(f"w2v-spark {name}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:
        if args.debug:
            log.exception("%s failed", name)
        hint = "" if args.debug else " (rerun with --debug for the full traceback)"
        print(f"w2v-spark {name}: failed: {one_line(exc)}{hint}", file=sys.stderr)
        raise SystemExit(1) from None
