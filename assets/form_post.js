// OAuth 2.0 Form Post Response Mode: send the hidden form to the client at once.
document.getElementById("gatehouse-form-post").submit();
