// Form of version 1.0.0, picked up by convention (forms/{version}/form.js) and served verbatim
// as detail.forms.renderform. SOPS evaluates it in the browser and reads $.atoms[<app code>].
(function () {
    $.atoms["{{app_code}}"] = [
        {tag_code: "name", type: "input", attrs: {name: "Name", hookable: true, validation: [{type: "required"}]}},
        {tag_code: "delay", type: "int", attrs: {name: "Delay (s)", hookable: true, default: 5}}
    ];
})();
