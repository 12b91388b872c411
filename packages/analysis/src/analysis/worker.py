"""Entry point of `analysis-worker`: serve the analysis queue."""

from core.worker import run_domain_worker


def main() -> None:
    """Run the analysis worker until SIGTERM/SIGINT."""
    run_domain_worker("analysis")


if __name__ == "__main__":  # `python -m <package>.worker`
    main()
