"""Ground truth and evaluation: saved queries, relevance judgements, metrics, pooling,
encoder comparison and reports.

- :mod:`.metrics`: P@k, R@k, MRR, MAP, NDCG@k, R-precision, judged@k on one ranking;
- :mod:`.significance`: paired randomisation and t-tests, Holm's adjustment;
- :mod:`.groundtruth`: saved queries and judgements in the catalog (content-hash keys);
- :mod:`.formats`: TREC qrels and run files, CSV;
- :mod:`.pooling`: what to judge next, fairly across encoders;
- :mod:`.runner`: run every query through every encoder, score, time, compare;
- :mod:`.report`: JSON, CSV and self-contained HTML reports.
"""
