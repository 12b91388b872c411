"""Entry point of `email-worker`: serve the email queue."""

from core.worker import run_domain_worker


def main() -> None:
    """Run the email worker until SIGTERM/SIGINT."""
    run_domain_worker("email")


if __name__ == "__main__":  # `python -m <package>.worker`
    main()
