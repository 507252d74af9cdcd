"""``python -m quality``: run the quality service until SIGTERM."""

from crewline.runtime import main
from quality.bootstrap import bootstrap
from quality.settings import QualitySettings

if __name__ == "__main__":
    main(QualitySettings.from_env, bootstrap)
