Feature: Live dashboard
  A trader watches a bot's money and health on a page that updates itself,
  and is told unmistakably when what is shown is no longer current.

  Scenario: Display real-time equity curve
    Given trading has begun
    When metrics arrive
    Then the equity curve line chart updates accordingly

  Scenario: Stale data is marked and clears when the bot speaks again
    Given trading has begun
    When the bot stays silent for longer than the stale threshold
    Then the status bar warns that the data is stale and shows its age
    When the bot sends an event
    Then the status bar shows the bot live again
