"""The attendance mentor programme beyond the school-level findings: the LA-level stage
(:mod:`.stage`), the few-treated-LA methods (:mod:`.la`) and the pupil-level study of
regression to the mean (:mod:`.pupils`)."""
