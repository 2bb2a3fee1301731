// Form of version 2.0.0, picked up by convention (forms/{version}/form.js): a new required
// field, biz_id, so a new major version.
(function () {
    $.atoms["evolving"] = [
        {tag_code: "biz_id", type: "int", attrs: {name: "Business ID", hookable: true, validation: [{type: "required"}]}},
        {tag_code: "task_name", type: "input", attrs: {name: "Task name", hookable: true, validation: [{type: "required"}]}},
        {tag_code: "poll_interval", type: "int", attrs: {name: "Poll interval", hookable: true, default: 10}},
        {tag_code: "tag", type: "input", attrs: {name: "Tag", hookable: true}}
    ];
})();
