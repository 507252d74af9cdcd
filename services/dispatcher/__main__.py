"""``python -m dispatcher``: run the dispatcher until SIGTERM."""

from crewline.runtime import main
from dispatcher.bootstrap import bootstrap
from dispatcher.settings import DispatcherSettings

if __name__ == "__main__":
    main(DispatcherSettings.from_env, bootstrap)
