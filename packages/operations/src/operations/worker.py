"""Entry point of `operations-worker`: serve the operations queue."""

from core.worker import run_domain_worker


def main() -> None:
    """Run the operations worker until SIGTERM/SIGINT."""
    run_domain_worker("operations")


if __name__ == "__main__":  # `python -m <package>.worker`
    main()
