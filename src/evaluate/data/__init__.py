"""The data layer: DfE files in, a validated analysis panel and its attrition log out.

Modules
-------
symbols     DfE suppression symbols (``c``, ``x``, ``z``, ``low``, ``u``, ``:``, ``.``) -> missing, recorded
ees         read any explore-education-statistics CSV (absence, attendance)
gias        read GIAS establishments and links; follow schools across conversion
programmes  hubs, mentor areas, priority areas -> cohorts and exposure
schemas     pandera schemas for raw absence rows and the panels
attrition   the log of every step from raw rows to panel rows
panel       ``build_panel`` and ``write_panel``
quality     the data-quality results the report renders
check       moved to evaluate.check (``evaluate data check``)
"""
