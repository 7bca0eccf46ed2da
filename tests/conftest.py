"""Shared test configuration: quiet TensorFlow, small thread pools, tiny data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def seq_data():
    """60 sequences of 6 steps x 2 features; binary label from the first feature's sum."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6, 2)).astype("float32")
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    return X, y


@pytest.fixture(scope="session")
def digits_sequences():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X.reshape(-1, 8, 8) / 16.0).astype("float32"), y


# ------------------------------------------------------------------ the quick subset
#
# `pytest -m "not slow"` is the quick feedback loop (issue 17: under 3 minutes on 2
# cores); CI runs everything.  Almost every test here trains a network, so "slow" is
# decided by measurement, not by feel: a test is listed when one run of it took more
# than ~2.5 s on the 2-core CI-sized VM under load, or more than ~1.4 s in a quick
# run on the quieter machine (per-test times from `pytest -p <a logreport plugin>`,
# 2026-12-02; the full suite took ~17 min there, the quick run 2 min 56 s before the
# second pass).
# What stays quick still trains a tiny network in every area (estimators, pipelines,
# tuning, persistence, preprocessing), so a broken core fails the quick run too.
#
# Whole modules (reason), sklearn checks by name, then test functions by name (every
# parametrisation of it) or one parametrisation (`name[id]`).  A listed name that no longer exists in its module is
# an error at collection, so the lists cannot silently go stale.
SLOW_MODULES = {
    "tests/test_readme.py": "every block runs at the size a reader would (10-50 s each)",
    "tests/test_examples.py": "each example script trains on real data (25-50 s each)",
    "tests/test_distributed.py": "starts Dask clusters and loky pools (5-45 s each)",
    "tests/test_onnx.py": "tf2onnx conversions (5-25 s each)",
    "tests/test_fused.py": "separate reference fits, and each XLA-step test compiles (10-40 s each)",
}
# scikit-learn estimator checks (tests/test_sklearn_checks.py, test_tuned_checks.py) that
# train for more than ~2.5 s under load (or ~1.4 s in a quiet quick run); the other checks
# of every suite stay in the quick run.
SLOW_CHECKS = {
    "check_class_weight_classifiers",
    "check_classifier_data_not_an_array",
    "check_classifier_multioutput",
    "check_classifiers_classes",
    "check_classifiers_multilabel_output_format_predict",
    "check_classifiers_multilabel_representation_invariance",
    "check_classifiers_one_label_sample_weights",
    "check_classifiers_train",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_overwrite_params",
    "check_fit2d_1feature",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_regressor_data_not_an_array",
    "check_regressor_multioutput",
    "check_regressors_int",
    "check_regressors_train",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list",
    "check_sample_weights_pandas_series",
    "check_sample_weights_shape",
    "check_supervised_y_2d",
}
SLOW_FUNCTIONS = {
    "tests/test_architecture.py": {
        "test_an_explicit_patch_on_short_sequences_trains_on_the_loop_form",
        "test_auto_patch_size",
        "test_conv_stem",
        "test_conv_stem_keeps_token_padding_masked",
        "test_default_regressor_trains_past_the_early_plateau_of_a_nonlinear_target",
        "test_digits_with_the_new_defaults",
        "test_last_partial_patch_is_zero_padded",
        "test_min_updates_counts_updates_not_epochs",
        "test_patching_changes_the_model",
        "test_patching_equals_the_reshaped_input",
        "test_max_patches_see_a_pattern_anywhere_inside_a_patch",
        "test_patch_mode_is_irrelevant_without_patching",
        "test_patch_pooling_equals_the_pooled_input[12-mean]",
        "test_patch_pooling_equals_the_pooled_input[10-max]",
        "test_patch_pooling_equals_the_pooled_input[10-mean]",
        "test_pooled_patches_ignore_padding_with_a_stem",
        "test_pooling_modes_train_and_differ_from_last",
        "test_pooling_auto_is_max_on_patched_series_and_last_otherwise",
        "test_shrink_to_linear_scales_only_the_gru_head_by_the_validation_optimum",
        "test_shrink_to_linear_keeps_what_the_gru_learned",
        "test_shrink_to_linear_is_inert_without_a_skip_or_for_quantiles",
        "test_shrink_to_linear_survives_pickling",
        "test_ragged_patches_are_masked",
        "test_ragged_patches_with_standardisation_ignore_padding",
        "test_user_padded_patches_with_mask_value_equal_the_ragged_list",
        "test_regressor_keeps_a_real_signal",
        "test_regressor_not_worse_than_the_mean_on_noise",
        "test_regressor_shrinkage_multi_output",
        "test_standardize_X_makes_the_input_scale_irrelevant",
    },
    "tests/test_refit.py": {
        "test_a_start_no_epoch_beats_is_kept_and_refitted_as_ridge_on_all_rows",
        "test_classifier_refit_is_opt_in",
        "test_no_refit_without_early_stopping_or_when_continuing",
        "test_refit_keeps_the_shrinkage_fitted_on_the_held_out_rows",
    },
    "tests/test_asha.py": {
        "test_gru_promoted_model_is_the_parent_model_continued",
        "test_loky_streams_trials",
    },
    "tests/test_asha_promote_by.py": {
        "test_a_class_missing_from_a_training_fold_still_gets_a_finite_loss",
        "test_a_gru_runs_its_network_once_for_the_score_and_the_log_loss",
        "test_promotions_follow_the_log_loss_on_loky_workers",
    },
    "tests/test_conformal.py": {
        "test_cqr_with_a_quantile_gru_pipeline_covers_90_percent",
        "test_cv_plus_gru_covers_90_percent",
        "test_default_estimator_is_a_gru_regressor",
        "test_pipeline_clone_pickle_cross_val_score",
        "test_split_conformal_gru_covers_90_percent",
        "test_variable_length_sequences_with_gru",
    },
    "tests/test_doctests.py": {
        "test_docstring_examples[skgru.estimators]",
        "test_docstring_examples[skgru.plotting]",
    },
    "tests/test_fused_numpy.py": {
        "test_numpy_fused_folds_equal_separate_fits_after_one_epoch",
        "test_tuned_refit_by_the_numpy_step_equals_a_plain_fit",
    },
    "tests/test_engines.py": {
        "test_short_sequences_share_the_unrolled_bucket_and_match_the_loop",
        "test_the_pool_is_bounded",
    },
    "tests/test_estimators.py": {
        "test_2d_input_is_univariate",
        "test_3d_input_fit_predict_and_fitted_attributes",
        "test_architecture_parameters_shape_the_network",
        "test_bad_input_gets_clear_errors",
        "test_batch_level_callbacks_see_every_batch_and_train_the_same",
        "test_class_weight_balanced_favours_minority",
        "test_divergence_is_reported_not_silent",
        "test_early_stopping_restores_best_epoch",
        "test_flattened_2d_with_n_features_and_dataframe_names",
        "test_keras_callbacks_and_verbose_progress",
        "test_multiclass_string_labels_and_probabilities",
        "test_multilabel",
        "test_other_keras_backend_in_a_subprocess",
        "test_regression_single_and_multi_output",
        "test_routed_optimizer_params_reach_the_optimizer",
        "test_sample_weight_and_class_weight_do_not_mutate_input",
        "test_token_matrix_with_embedding",
        "test_warm_start_and_partial_fit_continue_training",
        "test_zero_sample_weight_equals_dropping_samples",
    },
    "tests/test_io.py": {
        "test_fresh_process_round_trip_is_identical",
        "test_mlflow_log_and_load_model",
        "test_round_trip_gives_identical_outputs[classifier_str_labels]",
        "test_round_trip_gives_identical_outputs[regressor_multioutput]",
        "test_tuned_gru_round_trip",
        "test_tuned_gru_skops_needs_only_skgru_types[None]",
    },
    "tests/test_linear_fcn.py": {
        "test_clone_and_pickle",
        "test_fcn_branch_changes_the_model",
        "test_fcn_branch_layers",
        "test_linear_skip_learns_a_linear_autoregression_the_gru_alone_misses",
        "test_linear_skip_parameter_builds_the_skip",
        "test_ragged_input_padding_never_reaches_the_new_paths",
    },
    "tests/test_ownership.py": {
        "test_a_model_taken_out_of_an_estimator_stays_the_users",
        "test_engines_are_never_reachable_from_an_estimator",
        "test_failed_refit_leaves_the_estimator_as_it_was_and_shares_nothing",
        "test_no_fit_changes_another_estimators_model_after_clone_copy_pickle_gc",
        "test_same_results_with_and_without_engine_reuse",
        "test_user_callbacks_see_the_estimators_own_model",
        "test_warm_start_continues_the_own_model_and_optimizer",
    },
    "tests/test_parameters.py": {
        "test_an_optimizer_instance_with_a_learning_rate_schedule_trains",
        "test_classifier_loss_must_fit_the_target_type",
        "test_partial_fit_classes_message_does_not_contradict_itself",
        "test_regressor_targets_of_huge_scale_predict_finite_values",
    },
    "tests/test_pipelines.py": {
        "test_example_multivariate_digits_fallback",
        "test_example_text_sentiment_fast",
        "test_example_text_sentiment_imdb_paths_with_fake_download",
        "test_example_time_series_forecasting_fast",
        "test_flattened_dataframe_with_pandas_output",
        "test_grid_search_over_scaler_and_gru_params",
        "test_make_windows_time_series_split_and_regressor",
        "test_multi_step_windows_with_regressor",
        "test_padder_and_classifier_on_variable_length_data",
        "test_text_pipeline_with_string_labels_predicts_unseen_text",
    },
    "tests/test_plotting.py": {
        "test_plot_history_gru",
    },
    "tests/test_quantiles.py": {
        "test_early_stopping_monitors_the_validation_pinball_loss",
        "test_equal_quantile_fits_share_an_engine_and_agree",
        "test_mc_dropout_is_seeded_and_uses_mc_samples",
        "test_mc_dropout_needs_dropout",
        "test_mc_dropout_recurrent_only_quantile_and_multi_output",
        "test_mc_dropout_std_grows_far_outside_the_training_range",
        "test_multi_output_quantiles",
        "test_quantile_errors",
        "test_quantiles_are_sorted_monotone_and_near_their_levels",
        "test_sample_weights_reach_the_pinball_loss",
        "test_standardize_y_maps_quantiles_back_to_y_units",
        "test_unsorted_levels_and_point_level_choice",
    },
    "tests/test_quiet.py": {
        "test_import_and_first_fit_are_quiet",
        "test_skgru_tf_logging_restores_tensorflows_own_output",
        "test_user_log_level_is_kept",
    },
    "tests/test_scikeras_surface.py": {
        "test_initialize_builds_without_training_and_partial_fit_continues",
        "test_scorer_is_the_score_metric",
    },
    "tests/test_sequences.py": {
        "test_classifier_fits_and_predicts_on_a_ragged_object_array",
    },
    "tests/test_sklearn_integration.py": {
        "test_calibration_voting_and_stacking",
        "test_clone_and_pickle_round_trip",
        "test_digits_as_sequences_reach_95_percent_with_defaults",
        "test_grid_search_over_gru_hyperparameters",
        "test_halving_search_with_epochs_as_resource",
        "test_pickled_regressor_keeps_target_scaling",
        "test_pooled_engine_gives_identical_results",
    },
    "tests/test_training_knobs.py": {
        "test_l1_and_l2_cover_the_same_kernels",
        "test_l1_gives_more_near_zero_kernel_weights",
        "test_same_seed_same_result_and_engine_reuse_is_exact",
        "test_schedules_share_one_engine_and_one_trace",
        "test_sgd_momentum_and_nesterov_reach_the_sgd_instance",
        "test_the_traced_epoch_trains_with_the_assigned_rate",
        "test_tuned_gru_searches_the_new_params",
        "test_user_callbacks_see_the_scheduled_rate",
        "test_weight_decay_on_an_optimizer_that_ignores_it_is_an_error",
        "test_weight_decay_reaches_the_optimizer_and_shrinks_the_weights",
    },
    "tests/test_tuning.py": {
        "test_directory_resume[bayesian]",
        "test_every_tuner_runs_and_refits[bayesian]",
        "test_gru_default_space_with_pipeline",
        "test_gru_end_to_end",
        "test_gru_multilabel_and_multioutput_hold_out",
        "test_oracle_optimises_the_refit_metric",
        "test_progress_moves_as_parallel_trials_finish",
        "test_resume_after_sigkill_is_exact",
        "test_routed_sample_weight_reaches_the_gru_fit",
        "test_two_concurrent_searches_on_one_directory",
    },
}
_CHECK_MODULES = ("tests/test_sklearn_checks.py", "tests/test_tuned_checks.py")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these markers
def pytest_collection_modifyitems(config, items):
    seen = {}
    for item in items:
        module, _, name = item.nodeid.partition("::")
        names = {name, name.split("[")[0]}  # one parametrisation, or the whole function
        seen.setdefault(module, set()).update(names)
        listed = SLOW_FUNCTIONS.get(module, ())
        check = None
        if module in _CHECK_MODULES:
            check = next((c for c in SLOW_CHECKS if f"-{c}]" in name or f"-{c}(" in name), None)
        if module in SLOW_MODULES or check or names & set(listed):
            item.add_marker(pytest.mark.slow)
    # a -k or node-id selection collects part of a module: only a full one can tell
    partial = config.option.keyword or any("::" in str(arg) for arg in config.args)
    for module, names in SLOW_FUNCTIONS.items():
        stale = set(names) - seen.get(module, set(names))
        if stale and not partial:
            raise pytest.UsageError(
                f"tests/conftest.py SLOW_FUNCTIONS lists {sorted(stale)} in {module}, "
                "which has no such test: remove or rename the entry.")
