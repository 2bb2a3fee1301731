// Form of version 1.0.0, picked up by convention (forms/{version}/form.js) and served
// verbatim in detail as forms.renderform. SOPS evaluates it in the browser.
(function () {
    $.atoms["sops-exec"] = [
        {tag_code: "template_id", type: "input", attrs: {name: "模板 ID", validation: [{type: "required"}]}},
        {tag_code: "task_name", type: "input", attrs: {name: "任务名称", validation: [{type: "required"}]}}
    ];
})();
