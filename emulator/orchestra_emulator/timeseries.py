"""Time series as Monitoring reads them from the metrics sink (metrics.py): what `projects.timeSeries.list` answers
(monitoring_v3.py) and what alert policies are evaluated on (monitoring_alerts.py), by the same code.

- Raw points are samples of `monitoring_sample_seconds` (admin config; 60 by default, as Cloud Run's),
  aligned to multiples of it since the epoch. A sample is visible only `monitoring_lag_seconds` after
  it closed (180 by default: run.googleapis.com/request_count says "Sampled every 60 seconds. After
  sampling, data is not visible for up to 180 seconds."); a still-open sample is never served. A DELTA
  sample is the sum of its points (a DISTRIBUTION one the distribution of its measurements), a GAUGE
  sample its last point.
- `filter` takes `field = "value"` clauses joined by AND on metric.type, resource.type,
  resource.label(s).KEY and metric.label(s).KEY.
- Aggregation follows https://cloud.google.com/monitoring/api/ref_v3/rest/v3/Aggregation:
  periods of `alignmentPeriod` (at least 60 s) ending at the interval's end, each holding the samples
  that start in it (the emulator's choice); per-series aligners
  ALIGN_NONE, ALIGN_DELTA, ALIGN_SUM, ALIGN_RATE, ALIGN_COUNT, ALIGN_MEAN, ALIGN_MIN, ALIGN_MAX,
  ALIGN_NEXT_OLDER, ALIGN_PERCENTILE_*, and ALIGN_FRACTION_TRUE and ALIGN_COUNT_TRUE for Boolean series;
  cross-series reducers REDUCE_NONE, REDUCE_SUM, REDUCE_MEAN, REDUCE_MIN, REDUCE_MAX, REDUCE_COUNT,
  REDUCE_PERCENTILE_*, and REDUCE_COUNT_TRUE and REDUCE_FRACTION_TRUE for Boolean series,
  over `groupByFields`. Percentiles of a distribution interpolate linearly
  inside its bucket. Others answer UNIMPLEMENTED.
- Distributions use exponential buckets (scale 1, growth 1.1, 120 finite buckets): an emulator choice.
"""

import bisect
import math
import re
import time

from orchestra_emulator.errors import ApiError, invalid_argument

BUCKETS = {"numFiniteBuckets": 120, "growthFactor": 1.1, "scale": 1.0}
# Upper bounds of the finite buckets 1..N; bucket 0 is (-inf, scale), bucket N+1 [last bound, +inf).
_BOUNDS = [BUCKETS["scale"] * BUCKETS["growthFactor"] ** i for i in range(BUCKETS["numFiniteBuckets"] + 1)]
_CLAUSE = re.compile(r'^\s*(metric\.type|resource\.type|(?:resource|metric)\.labels?\.[a-z_]+)\s*=\s*"([^"]*)"\s*$')
_PERCENTILE = re.compile(r"^(?:ALIGN|REDUCE)_PERCENTILE_(\d\d)$")


def visible_until(config):
    """Samples that closed by this time are visible (`config`: the admin config)."""
    return time.time() - config["monitoring_lag_seconds"]


def read(sink, config, project, filter_text, start, end, aggregation):
    """The series of `project` matching `filter_text` as timeSeries.list answers them for the interval (start, end]
    (epoch seconds) and `aggregation` (an Aggregation: perSeriesAligner, alignmentPeriod, crossSeriesReducer,
    groupByFields), with the samples visible now under `config`'s sample length and lag. Series without points are left
    out. Raises INVALID_ARGUMENT as timeSeries.list does."""
    wanted = parse_filter(filter_text)
    aligner = aggregation.get("perSeriesAligner", "ALIGN_NONE")
    reducer = aggregation.get("crossSeriesReducer", "REDUCE_NONE")
    period = _period(aggregation.get("alignmentPeriod"), aligner)
    if reducer != "REDUCE_NONE" and aligner == "ALIGN_NONE":
        # crossSeriesReducer: "If cross_series_reducer is specified, then per_series_aligner must be
        # specified, and must not be ALIGN_NONE." Google's wording of this 400 is not known.
        raise invalid_argument(
            f'Field aggregation.crossSeriesReducer had an invalid value of "{reducer}": '
            'a cross-series reducer needs a per-series aligner other than ALIGN_NONE.',
            field="aggregation.cross_series_reducer")
    descriptor = sink.descriptor(wanted["metric.type"])
    if period is not None and descriptor:
        aligned(aligner, *descriptor[:2], period)  # refused by the metric's kind, with or without data
    series = sink.series(project, config["monitoring_sample_seconds"], visible_until(config))
    series = [_align(s, start, end, aligner, period) for s in series if _matches(s, wanted)]
    series = [s for s in series if s["points"]]
    if reducer != "REDUCE_NONE":
        series = _reduce(series, reducer, aggregation.get("groupByFields", []))
    return series


def parse_filter(text):
    if not text.strip():
        raise invalid_argument("Field filter had an invalid value: a filter naming metric.type is required.", field="filter")
    wanted = {}
    for clause in re.split(r"\s+AND\s+", text.strip()):
        found = _CLAUSE.match(clause)
        if not found:
            raise invalid_argument(
                f'The emulator supports filters of field = "value" clauses joined by AND; cannot parse {clause.strip()!r}.',
                field="filter")
        wanted[found.group(1).replace(".label.", ".labels.")] = found.group(2)
    if "metric.type" not in wanted:
        raise invalid_argument("Field filter had an invalid value: it must name a metric.type.", field="filter")
    return wanted


def _matches(series, wanted):
    for field, value in wanted.items():
        if field == "metric.type" and series["metric"]["type"] != value:
            return False
        if field == "resource.type" and series["resource"]["type"] != value:
            return False
        if field.startswith(("resource.labels.", "metric.labels.")):
            part, key = field.split(".labels.", 1)
            if series[part]["labels"].get(key) != value:
                return False
    return True


def _period(value, aligner):
    if aligner == "ALIGN_NONE":
        return None
    if not value:
        raise invalid_argument("An alignment period is required when a per-series aligner is set.",
                               field="aggregation.alignment_period")
    seconds = float(value.rstrip("s"))
    if seconds < 60:
        raise invalid_argument("The alignment period must be at least 60 seconds.", field="aggregation.alignment_period")
    return seconds


def _align(series, start, end, aligner, period):
    """The series with points: its raw samples, or one point per alignment period ending at `end`."""
    length = series["sample_seconds"]
    if period is None:
        # TimeInterval: "Reads: A half-open time interval. It includes the end time but excludes the start
        # time: (startTime, endTime]." A raw point is read when its end time is in it.
        points = [{"interval": (t, t + length), "value": _raw(series, values)}
                  for t, values in series["samples"].items() if start < t + length <= end]
        return {**series, "points": sorted(points, key=lambda p: p["interval"], reverse=True)}
    kind, value_type, combine = aligned(aligner, series["metricKind"], series["valueType"], period)
    count = max(1, math.ceil((end - start) / period))
    points = []
    for i in range(count):  # newest first: "points are returned in reverse time order"
        high = end - i * period
        low = high - period
        # A sample counts in the period it starts in (the emulator's choice: how Google splits a
        # sample across two periods is not documented).
        values = [_raw(series, sample) for t, sample in sorted(series["samples"].items()) if low <= t < high]
        if values:
            points.append({"interval": (low, high), "value": combine(values)})
    return {**series, "metricKind": kind, "valueType": value_type, "points": points}


def _raw(series, values):
    """A sample's value from its points: their distribution, their last value (GAUGE) or their sum (DELTA)."""
    if series["valueType"] == "DISTRIBUTION":
        return _distribution(values)
    return values[-1] if series["metricKind"] == "GAUGE" else sum(values)


def aligned(aligner, kind, value_type, period):
    """(metric kind, value type, function of the period's sample values) after aligning, in the words of
    the monitoring.v3 discovery document's Aggregation.perSeriesAligner."""
    numeric = value_type in ("INT64", "DOUBLE")
    total = _merge if value_type == "DISTRIBUTION" else sum
    percentile = _PERCENTILE.match(aligner)
    if aligner == "ALIGN_DELTA":
        # "Align and convert to DELTA. [...] The value_type of the aligned result is the same as the value_type of the input."
        return "DELTA", value_type, total
    if aligner == "ALIGN_SUM":
        # "valid for GAUGE and DELTA metrics with numeric and distribution values. The value_type of the aligned
        # result is the same as the value_type of the input."
        return kind, value_type, total
    if aligner == "ALIGN_RATE" and numeric:
        # "valid for CUMULATIVE and DELTA metrics with numeric values [...] The output is a GAUGE metric with value_type DOUBLE."
        return "GAUGE", "DOUBLE", lambda values: sum(values) / period
    if aligner == "ALIGN_MEAN" and numeric:
        # "returning the mean value in each alignment period. This aligner is valid for GAUGE and DELTA metrics
        # with numeric values. The value_type of the aligned result is DOUBLE."
        return kind, "DOUBLE", lambda values: sum(values) / len(values)
    if aligner == "ALIGN_COUNT" and numeric:
        # "returning the number of values in each alignment period. This aligner is valid for GAUGE and DELTA
        # metrics with numeric or Boolean values. The value_type of the aligned result is INT64."
        return kind, "INT64", len
    if aligner in ("ALIGN_MIN", "ALIGN_MAX") and numeric and kind in ("GAUGE", "DELTA"):
        # "returning the minimum [maximum] value in each alignment period. This aligner is valid for GAUGE and DELTA
        # metrics with numeric values. The value_type of the aligned result is the same as the value_type of the input."
        return kind, value_type, (min if aligner == "ALIGN_MIN" else max)
    if aligner == "ALIGN_NEXT_OLDER" and kind == "GAUGE":
        # "moving the most recent data point before the end of the alignment period to the boundary at the end of the
        # alignment period. This aligner is valid for GAUGE metrics. The value_type of the aligned result is the same"
        return kind, value_type, lambda values: values[-1]
    if aligner in ("ALIGN_FRACTION_TRUE", "ALIGN_COUNT_TRUE") and value_type == "BOOL":
        # ALIGN_FRACTION_TRUE: "the ratio of the number of True values to the total number of values in each alignment
        # period. This aligner is valid for GAUGE metrics with Boolean values. The output value is in the range 0.0, 1.0
        # and has value_type DOUBLE." ALIGN_COUNT_TRUE: "the number of True values [...] The value_type of the output is INT64."
        if aligner == "ALIGN_COUNT_TRUE":
            return kind, "INT64", lambda values: sum(1 for v in values if v)
        return kind, "DOUBLE", lambda values: sum(1 for v in values if v) / len(values)
    if percentile and value_type == "DISTRIBUTION":
        # "valid for GAUGE and DELTA metrics with distribution values. The output is a GAUGE metric with value_type DOUBLE."
        return "GAUGE", "DOUBLE", lambda values: _percentile(_merge(values), int(percentile.group(1)))
    if percentile or aligner in ("ALIGN_RATE", "ALIGN_MEAN", "ALIGN_COUNT", "ALIGN_FRACTION_TRUE", "ALIGN_COUNT_TRUE", "ALIGN_MIN", "ALIGN_MAX",
                                 "ALIGN_NEXT_OLDER"):
        # Google's words for an aligner the metric's kind and type do not allow (a real 400 of the API).
        raise invalid_argument(f'Field aggregation.perSeriesAligner had an invalid value of "{aligner}": '
                               f"The aligner cannot be applied to metrics with kind {kind} and value type {value_type}.",
                               field="aggregation.per_series_aligner")
    raise ApiError("UNIMPLEMENTED", f"The emulator does not implement the aligner {aligner}.")


def grouped(series, group_by):
    """[(metric, resource, members)]: the series in groups of equal `group_by` labels (an Aggregation's groupByFields),
    each group named by its metric and resource with those labels alone, in label order."""
    fields = [f.replace(".label.", ".labels.") for f in group_by]
    groups = {}
    for s in series:
        groups.setdefault(tuple(label(s, f) for f in fields), []).append(s)
    out = []
    for key, members in sorted(groups.items(), key=lambda item: [str(v) for v in item[0]]):
        kept = dict(zip(fields, key))
        out.append(({"type": members[0]["metric"]["type"], "labels": _kept(kept, "metric.labels.")},
                    {"type": members[0]["resource"]["type"], "labels": _kept(kept, "resource.labels.")}, members))
    return out


def _reduce(series, reducer, group_by):
    reduced = []
    for metric, resource, members in grouped(series, group_by):
        first = members[0]
        value_type, combine = _reducer(reducer, first["valueType"])
        by_window = {}
        for s in members:
            for p in s["points"]:
                by_window.setdefault(p["interval"], []).append(p["value"])
        points = [{"interval": w, "value": combine(values)} for w, values in sorted(by_window.items(), reverse=True)]
        reduced.append({"metric": metric, "resource": resource, "metricKind": first["metricKind"], "valueType": value_type,
                        "unit": first["unit"], "points": points})
    return reduced


def _reducer(reducer, value_type):
    distribution = value_type == "DISTRIBUTION"
    if reducer == "REDUCE_SUM":
        return value_type, (_merge if distribution else sum)
    if reducer == "REDUCE_COUNT":
        return "INT64", len
    if reducer in ("REDUCE_COUNT_TRUE", "REDUCE_FRACTION_TRUE") and value_type == "BOOL":
        # "the number of True-valued data points across time series [...] valid for DELTA and GAUGE metrics of Boolean
        # value_type. The value_type of the output is INT64." / "the ratio of the number of True-valued data points to the
        # total number of data points [...] has value_type DOUBLE."
        if reducer == "REDUCE_COUNT_TRUE":
            return "INT64", lambda vs: sum(1 for v in vs if v)
        return "DOUBLE", lambda vs: sum(1 for v in vs if v) / len(vs)
    percentile = _PERCENTILE.match(reducer)
    if percentile:
        rank = int(percentile.group(1))
        return "DOUBLE", (lambda vs: _percentile(_merge(vs), rank)) if distribution else (lambda vs: _rank(sorted(vs), rank))
    numeric = {"REDUCE_MEAN": lambda vs: sum(vs) / len(vs), "REDUCE_MIN": min, "REDUCE_MAX": max}
    if reducer in numeric and not distribution:
        return ("DOUBLE" if reducer == "REDUCE_MEAN" else value_type), numeric[reducer]
    if reducer == "REDUCE_MEAN":
        return "DOUBLE", lambda vs: _merge(vs)["mean"]
    raise ApiError("UNIMPLEMENTED", f"The emulator does not implement the reducer {reducer} for {value_type} values.")


def label(series, field):
    part, key = field.split(".labels.", 1) if ".labels." in field else (field, "")
    if part not in ("metric", "resource") or not key:
        raise invalid_argument(f"Invalid group-by field {field!r}.", field="aggregation.group_by_fields")
    return series[part]["labels"].get(key, "")


def _kept(kept, prefix):
    return {field[len(prefix):]: value for field, value in kept.items() if field.startswith(prefix)}


# -- distributions ----------------------------------------------------------------------------

def _distribution(values):
    counts = [0] * (BUCKETS["numFiniteBuckets"] + 2)
    for v in values:
        counts[bisect.bisect_right(_BOUNDS, v)] += 1
    mean = sum(values) / len(values)
    return {"count": len(values), "mean": mean, "ssd": sum((v - mean) ** 2 for v in values), "buckets": counts}


def _merge(distributions):
    count = sum(d["count"] for d in distributions)
    mean = sum(d["mean"] * d["count"] for d in distributions) / count
    ssd = sum(d["ssd"] + d["count"] * (d["mean"] - mean) ** 2 for d in distributions)
    return {"count": count, "mean": mean, "ssd": ssd, "buckets": [sum(c) for c in zip(*(d["buckets"] for d in distributions))]}


def _percentile(distribution, rank):
    """The rank-th percentile, interpolated linearly inside the bucket that holds it."""
    target = distribution["count"] * rank / 100.0
    seen = 0
    for i, n in enumerate(distribution["buckets"]):
        if n and seen + n >= target:
            low = 0.0 if i == 0 else _BOUNDS[i - 1]
            high = _BOUNDS[min(i, len(_BOUNDS) - 1)]
            return low + (high - low) * (target - seen) / n
        seen += n
    return _BOUNDS[-1]


def _rank(values, rank):
    return values[min(len(values) - 1, max(0, math.ceil(len(values) * rank / 100.0) - 1))]
