/* Attendee pages' enhancements (the pages work without them): the hold's countdown, and mounting a payment
   provider's widget (Stripe's Payment Element, PayPal's buttons). Loaded only on a booking's page; no
   third-party code here. */
(function () {
  "use strict";

  function countdown() {
    var holder = document.querySelector("[data-hold-until]");
    if (!holder) { return; }
    var until = Date.parse(holder.getAttribute("data-hold-until"));
    var label = holder.querySelector("[data-countdown]");
    var expired = document.querySelector("[data-hold-expired]");
    var payment = document.querySelector("[data-payment]");
    function tick() {
      var left = Math.max(0, Math.round((until - Date.now()) / 1000));
      var minutes = Math.floor(left / 60), seconds = left % 60;
      label.textContent = "(" + minutes + ":" + (seconds < 10 ? "0" : "") + seconds + ")";
      label.hidden = false;
      if (left === 0) {
        clearInterval(timer);
        holder.hidden = true;
        if (expired) { expired.hidden = false; }
        if (payment) { payment.hidden = true; }
      }
    }
    var timer = setInterval(tick, 1000);
    tick();
  }

  function stripe() {
    var form = document.querySelector("[data-stripe]");
    if (!form || typeof window.Stripe !== "function") { return; }
    var client = window.Stripe(form.getAttribute("data-publishable-key"));
    var elements = client.elements({clientSecret: form.getAttribute("data-client-secret")});
    elements.create("payment").mount("#payment-element");
    var button = form.querySelector("[data-pay-button]");
    var error = form.querySelector("[data-payment-error]");
    button.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      client.confirmPayment({elements: elements, confirmParams: {return_url: form.getAttribute("data-return-url")}})
        .then(function (result) {
          if (result && result.error) {
            error.textContent = result.error.message || "";
            error.hidden = false;
            button.disabled = false;
          }
        });
    });
  }

  function paypal() {
    var box = document.querySelector("[data-paypal]");
    if (!box || !window.paypal || typeof window.paypal.Buttons !== "function") { return; }
    var fallback = document.querySelector("[data-paypal-fallback]");
    var error = box.querySelector("[data-payment-error]");
    window.paypal.Buttons({
      createOrder: function () { return box.getAttribute("data-order-id"); },    // the booking's own order
      onApprove: function () { window.location.href = box.getAttribute("data-return-url"); },  // the core confirms
      onError: function () { error.hidden = false; }
    }).render("#paypal-buttons");
    if (fallback) { fallback.hidden = true; }
  }

  countdown();
  window.addEventListener("load", stripe);
  window.addEventListener("load", paypal);
})();
