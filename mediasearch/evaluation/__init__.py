"""Ground truth and evaluation: saved queries, relevance judgements, metrics, pooling,
encoder comparison and reports.

- :mod:`.metrics`: P@k, R@k, F1@k, success@k, MRR, MAP, NDCG@k, R-precision, judged@k
  on one ranking, with trec_eval's conventions;
- :mod:`.trec`: trec_eval-exact scoring of any tool's run files against qrels;
- :mod:`.significance`: paired randomisation and t-tests, Holm's adjustment, bootstrap intervals;
- :mod:`.judging`: the score threshold that best separates relevant from not relevant;
- :mod:`.synth`: synthetic image queries (edited copies of library images);
- :mod:`.groundtruth`: saved queries and judgements in the catalog (content-hash keys);
- :mod:`.formats`: TREC qrels and run files, CSV;
- :mod:`.pooling`: what to judge next, fairly across encoders;
- :mod:`.runner`: run every query through every encoder, score, time, compare per media type;
- :mod:`.report`: JSON, CSV and self-contained HTML reports.
"""
