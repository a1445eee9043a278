"""Hyperparameter search (`shadernet tune`) on Optuna: random search or TPE, median pruning
on validation accuracy per epoch, trials stored in SQLite or PostgreSQL.

    space.py        the hyperparameters, their default ranges, --space files
    objective.py    one trial: train on the training split, score on validation
    study.py        storage, sampler, pruner, the trial budget across workers
    progress.py     a line per trial and a bar for the study
    report.py       tune.json, the plots, index.html
    best_config.py  best.json, read back by `shadernet train --config`
    command.py      the command line
"""
