"""crewctl, the command line for Crewline operators (see ``crewline.ctl.main``)."""
