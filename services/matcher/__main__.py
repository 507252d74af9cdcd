"""``python -m matcher``: run the matcher until SIGTERM."""

from crewline.runtime import main
from matcher.bootstrap import bootstrap
from matcher.settings import MatcherSettings

if __name__ == "__main__":
    main(MatcherSettings.from_env, bootstrap)
