"""Agreement figures between gold and predicted codes (shared by training and the evaluate command)."""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, precision_recall_fscore_support


def classification_metrics(
    *, gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] | None = None
) -> dict:
    """Accuracy, macro-F1, Cohen's kappa, per-class precision/recall/F1/support and the confusion matrix."""
    gold, predicted = [str(label) for label in gold], [str(label) for label in predicted]
    if not gold:
        return {"n": 0}
    labels = list(labels) if labels else sorted(set(gold) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, average=None, zero_division=0
    )
    present = [index for index, label in enumerate(labels) if support[index] > 0]
    return {
        "n": len(gold),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        # Macro over the classes that occur in the gold labels, so a small file is not punished for absent ones.
        "macro_f1": round(float(f1[present].mean()), 4) if present else 0.0,
        "kappa": round(float(cohen_kappa_score(gold, predicted, labels=labels)), 4)
        if len(set(gold) | set(predicted)) > 1
        else 1.0,
        "per_class": {
            label: {
                "precision": round(float(precision[index]), 4),
                "recall": round(float(recall[index]), 4),
                "f1": round(float(f1[index]), 4),
                "support": int(support[index]),
            }
            for index, label in enumerate(labels)
        },
        "confusion_matrix": {
            "labels": labels,
            "rows_gold_columns_predicted": confusion_matrix(gold, predicted, labels=labels).tolist(),
        },
    }
