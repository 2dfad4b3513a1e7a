"""The kernel: registries, records, models, metrics, device, measurement and splits. It knows no
task, method or report by name; built-ins register themselves like any plugin."""
