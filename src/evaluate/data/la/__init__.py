"""DfE's local-authority attendance files: read (:mod:`.read`), LA codes across the 2023
reorganisation (:mod:`.codes`), the LA x phase x period panel (:mod:`.panel`), which LAs
were treated when (:mod:`.treatment`), and synthetic England summed to LAs (:mod:`.synthetic`)."""
