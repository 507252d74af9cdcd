"""``python -m ledger``: run the ledger until SIGTERM."""

from crewline.runtime import main
from ledger.bootstrap import bootstrap
from ledger.settings import LedgerSettings

if __name__ == "__main__":
    main(LedgerSettings.from_env, bootstrap)
