"""Quality control: the one owner of what is measured of contractors' work (scores,
and later gold keys, rules, sanctions and appeals)."""
