using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class Reservations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ExpiresAt",
                table: "Labs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ExpiryWarnedAt",
                table: "Labs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "ReservationId",
                table: "Labs",
                type: "uuid",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "CalendarFeeds",
                columns: table => new
                {
                    UserId = table.Column<Guid>(type: "uuid", nullable: false),
                    Hash = table.Column<byte[]>(type: "bytea", maxLength: 32, nullable: false),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_CalendarFeeds", x => x.UserId);
                    table.ForeignKey(
                        name: "FK_CalendarFeeds_AspNetUsers_UserId",
                        column: x => x.UserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "Reservations",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "uuid", nullable: false),
                    Name = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    OwnerId = table.Column<Guid>(type: "uuid", nullable: false),
                    TemplateId = table.Column<Guid>(type: "uuid", nullable: false),
                    TemplateVersion = table.Column<int>(type: "integer", nullable: false),
                    StartsAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    EndsAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    HoldsFrom = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Audience = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    GroupId = table.Column<Guid>(type: "uuid", nullable: true),
                    TeamIdsJson = table.Column<string>(type: "text", nullable: false),
                    LabCpus = table.Column<double>(type: "double precision", nullable: false),
                    LabMemoryBytes = table.Column<long>(type: "bigint", nullable: false),
                    KindsJson = table.Column<string>(type: "text", nullable: false),
                    PlanJson = table.Column<string>(type: "text", nullable: false),
                    State = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    Extensions = table.Column<int>(type: "integer", nullable: false),
                    BookedEndsAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    WarnedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    Notice = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    CreatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    UpdatedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Version = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Reservations", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Reservations_AspNetUsers_OwnerId",
                        column: x => x.OwnerId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Reservations_Groups_GroupId",
                        column: x => x.GroupId,
                        principalTable: "Groups",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_Reservations_LabTemplates_TemplateId",
                        column: x => x.TemplateId,
                        principalTable: "LabTemplates",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "ReservationHostShares",
                columns: table => new
                {
                    ReservationId = table.Column<Guid>(type: "uuid", nullable: false),
                    HostId = table.Column<Guid>(type: "uuid", nullable: false),
                    HoldsFrom = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    EndsAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    Cpus = table.Column<double>(type: "double precision", nullable: false),
                    MemoryBytes = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ReservationHostShares", x => new { x.ReservationId, x.HostId });
                    table.ForeignKey(
                        name: "FK_ReservationHostShares_Reservations_ReservationId",
                        column: x => x.ReservationId,
                        principalTable: "Reservations",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Labs_ExpiresAt",
                table: "Labs",
                column: "ExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_Labs_ReservationId",
                table: "Labs",
                column: "ReservationId");

            migrationBuilder.CreateIndex(
                name: "IX_CalendarFeeds_Hash",
                table: "CalendarFeeds",
                column: "Hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ReservationHostShares_EndsAt_HoldsFrom_HostId_Cpus_MemoryBy~",
                table: "ReservationHostShares",
                columns: new[] { "EndsAt", "HoldsFrom", "HostId", "Cpus", "MemoryBytes" });

            migrationBuilder.CreateIndex(
                name: "IX_Reservations_GroupId",
                table: "Reservations",
                column: "GroupId");

            migrationBuilder.CreateIndex(
                name: "IX_Reservations_OwnerId",
                table: "Reservations",
                column: "OwnerId");

            migrationBuilder.CreateIndex(
                name: "IX_Reservations_State_EndsAt",
                table: "Reservations",
                columns: new[] { "State", "EndsAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Reservations_State_StartsAt",
                table: "Reservations",
                columns: new[] { "State", "StartsAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Reservations_TemplateId",
                table: "Reservations",
                column: "TemplateId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "CalendarFeeds");

            migrationBuilder.DropTable(
                name: "ReservationHostShares");

            migrationBuilder.DropTable(
                name: "Reservations");

            migrationBuilder.DropIndex(
                name: "IX_Labs_ExpiresAt",
                table: "Labs");

            migrationBuilder.DropIndex(
                name: "IX_Labs_ReservationId",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "ExpiresAt",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "ExpiryWarnedAt",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "ReservationId",
                table: "Labs");
        }
    }
}
