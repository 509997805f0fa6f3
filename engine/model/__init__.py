"""The math and the measure: filters, the random network, the objective, evaluation."""
