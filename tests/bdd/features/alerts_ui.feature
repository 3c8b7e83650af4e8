Feature: Alerts tab of the dashboard
  A trader checks from the dashboard that each alert channel really reaches them.

  Scenario: Test alert delivery from GUI
    Given valid email and Slack webhook in alerts config
    When user clicks Test Alert
    Then a sample notification is delivered to each endpoint
    And the page shows each channel as delivered

  Scenario: One channel fails and the page shows its error
    Given valid email and a Slack webhook that rejects the token
    When user clicks Test Alert
    Then the page shows Slack failed with "invalid_token"
    And the e-mail is still delivered
    And a second click within 10 seconds is refused with a message
