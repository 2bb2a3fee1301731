// Form of versions 1.0.0 and 1.1.0 (#[plugin(form = "forms/1.x/form.js")]). 1.1.0 keeps it
// unchanged: the schema lock treats every edit of a released form as breaking.
(function () {
    $.atoms["evolving"] = [
        {tag_code: "task_name", type: "input", attrs: {name: "Task name", hookable: true, validation: [{type: "required"}]}},
        {tag_code: "poll_interval", type: "int", attrs: {name: "Poll interval", hookable: true, default: 10}}
    ];
})();
