"""Shipping a trained classifier: load a run as something that answers, export it, serve it.

    runs.load_servable(path, backend="torch"|"onnxruntime") -> Servable   a run (or an export folder) ready to predict
    runs.write_data_contract(run_dir, config, data)                       data.json: what raw input becomes model input
    export.export_run(run_dir, format="onnx"|"torchscript"|"safetensors") -> ExportResult
    onnx_graph.write_onnx(model, path, ...)                               torch module → checked ONNX file
    server.serve(run_dir, ...)                                            FastAPI + uvicorn (`tujie serve`)

Nothing is imported here: onnx, onnxruntime and fastapi load only when a module that needs them
is used, so `import tujie` stays fast and a missing optional library fails only where it is used.
"""
