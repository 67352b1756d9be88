"""What every job shares: its options, logging, the resolved config, and one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import logging
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


def one_line(exc: BaseException) -> str:
    """The first meaningful line of an exception, Java ones included."""
    chain = [exc, exc.__cause__, exc.__context__]
    if any(type(e).__name__ in ("Py4JNetworkError", "ConnectionRefusedError") for e in chain if e):
        return JVM_GONE
    try:
        text = str(exc).strip() or type(exc).__name__
    except Exception:  # py4j errors can fail to print once the JVM is gone
        return JVM_GONE
    if "does not exist in the JVM" in text or "<exception str() failed>" in text:
        return JVM_GONE
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "Traceback", "File ")):
            return line[:500]
    return type(exc).__name__


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
