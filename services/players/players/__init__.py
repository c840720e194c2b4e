"""The players service: profiles behind ``/players`` (:mod:`players.main`) and their stats (:mod:`players.stats`)."""
