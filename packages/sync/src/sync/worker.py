"""Entry point of `sync-worker`: serve the sync queue."""

from core.worker import run_domain_worker


def main() -> None:
    """Run the sync worker until SIGTERM/SIGINT."""
    run_domain_worker("sync")


if __name__ == "__main__":  # `python -m <package>.worker`
    main()
