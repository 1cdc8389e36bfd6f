// Card payment page: Stripe.js turns the card into a PaymentMethod in the browser; the form then
// posts only its id, and the server confirms the invoice's PaymentIntent with it.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("card-payment-form");
    if (!form || typeof window.Stripe !== "function") return;
    var stripe = window.Stripe(form.dataset.publishableKey);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var errors = document.getElementById("card-errors");
    var button = document.getElementById("card-submit");
    form.addEventListener("submit", function (event) {
      var field = form.querySelector("input[name=payment_method]");
      if (field.value) return;
      event.preventDefault();
      button.disabled = true;
      stripe.createPaymentMethod({ type: "card", card: card }).then(function (result) {
        if (result.error) {
          errors.textContent = result.error.message;
          button.disabled = false;
          return;
        }
        field.value = result.paymentMethod.id;
        form.submit();
      });
    });
  });
})();
