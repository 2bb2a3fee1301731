// Form of version 1.1.0, chosen with #[plugin(form = "forms/callback/form.js")].
(function () {
    $.atoms["sops-exec"] = [
        {tag_code: "template_id", type: "input", attrs: {name: "模板 ID", validation: [{type: "required"}]}},
        {tag_code: "task_name", type: "input", attrs: {name: "任务名称", validation: [{type: "required"}]}}
    ];
})();
