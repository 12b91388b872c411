"""Entry point of `analysis-worker`: serve the analysis queue."""

from core.worker import run_domain_worker


def main() -> None:
    """Run the analysis worker until SIGTERM/SIGINT."""
    run_domain_worker("analysis")
